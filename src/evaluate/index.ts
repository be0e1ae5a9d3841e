/** evaluate: pure scoring of churn predictions against labels, the rule score and baselines; report JSON, charts and HTML. */
export * from './metrics.js';
export * from './bootstrap.js';
export * from './importance.js';
export * from './report.js';
export * from './charts.js';
export * from './html.js';
export * from './in-sample.js';
export * from './churn.js';
