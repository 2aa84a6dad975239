export * from './channels';
export * from './conversations';
export * from './events';
export * from './jobs';
export * from './roles';
export * from './templates';
export * from './tenants';
