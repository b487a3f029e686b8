/** Public surface of `wirekit lab` beyond startLab: the dashboard, the mail sink and the demos. */
export { startDashboard, type Dashboard, type DashboardOptions } from "./dashboard/server.js";
export { createLabMetrics } from "./dashboard/metrics.js";
export { createMailSink, MailSink, type MailSinkOptions, type MailSinkEvent, type MailSinkEvents, type MailSinkTotals } from "./mail/sink.js";
export { MailStore, type StoredMessage, type MessageSummary, type MailStoreOptions } from "./mail/store.js";
export { runDemos, type DemoResult, type DemoOptions } from "./demo.js";
export type { LabEvent, LabHttpResponse, LabDemoTarget, EventSource, ServerServiceSpec } from "./service.js";
export { serviceFromServer, RecentRing } from "./service.js";
