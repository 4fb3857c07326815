export { overviewDashboard } from './overview-dashboard.js';
export { stagesDashboard } from './stages-dashboard.js';
export { tokensDashboard } from './tokens-dashboard.js';
export { receiverDashboard } from './receiver-dashboard.js';
export { DASHBOARDS, renderDashboards } from './dashboards.js';
