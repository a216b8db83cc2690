/** /api/customers: the same routes as /api/teams, one level up (see teams.ts, which holds both). */
export { registerCustomerRoutes } from './teams.js';
