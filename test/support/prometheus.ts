// The Prometheus runner lives with the dashboards package, whose preview pictures use it too.
export { startPrometheus } from '@llm-monitor/grafana-dashboards';
export type { RunningPrometheus } from '@llm-monitor/grafana-dashboards';
