// Every signed-in screen, in one list: its path, its title, whether it appears in the
// navigation, and the permission that shows it. Adding a screen is one entry here and
// one component under screens/ (admin/README.md).
import { type ComponentType, lazy } from 'react';
import Members from './screens/Members';
import type { ViewerInfo } from './viewer';

export type Screen = {
  path: string;
  title: string;
  nav: boolean;
  /** The permission the viewer needs to see the screen (null: every signed-in user). */
  permission: string | null;
  component: ComponentType<{ params: Record<string, string> }>;
  /** Opened by a full page load, for a screen the server serves with its own policy. */
  fullLoad?: boolean;
  /** Who else sees the screen, for screens the owner or the support account sees. */
  allow?: (viewer: ViewerInfo) => boolean;
};

const ownerOrSupport = (viewer: ViewerInfo) => viewer.kind === 'SUPPORT' || !!viewer.user?.isOwner;
// A practitioner keeps its own working hours whatever its roles (the server's rule for a
// schedule: MANAGE_SCHEDULE, or one's own).
const ownSchedule = (viewer: ViewerInfo) => viewer.user?.type === 'PRACTITIONER';
const orSupport = (permission: string) => (viewer: ViewerInfo) => viewer.kind === 'SUPPORT' || !!viewer.user?.permissions.includes(permission as never);

export const screens: Screen[] = [
  { path: '/', title: 'Members', nav: false, permission: 'VIEW_USERS', component: Members },
  { path: '/members', title: 'Members', nav: true, permission: 'VIEW_USERS', component: Members },
  { path: '/members/invite', title: 'Invite a member', nav: false, permission: 'EDIT_OTHER_USERS', component: lazy(() => import('./screens/Invite')) },
  { path: '/members/:id', title: 'Member', nav: false, permission: 'VIEW_USERS', component: lazy(() => import('./screens/Member')) },
  { path: '/members/:id/deactivate', title: 'Deactivate', nav: false, permission: 'EDIT_OTHER_USERS', component: lazy(() => import('./screens/Deactivate')) },
  { path: '/members/:id/handover', title: 'Handover report', nav: false, permission: 'EDIT_OTHER_USERS', component: lazy(() => import('./screens/Handover')) },
  { path: '/unmapped', title: 'Unmapped users', nav: true, permission: 'EDIT_OTHER_USERS', component: lazy(() => import('./screens/Unmapped')) },
  { path: '/roles', title: 'Roles and permissions', nav: true, permission: 'VIEW_USERS', component: lazy(() => import('./screens/Roles')) },
  { path: '/licenses', title: 'Licenses', nav: true, permission: null, component: lazy(() => import('./screens/Licenses')) },
  { path: '/billing', title: 'Billing', nav: true, permission: 'VIEW_BILLING', component: lazy(() => import('./screens/Billing')) },
  { path: '/portal', title: 'Patient portal', nav: true, permission: 'MANAGE_PORTAL', allow: orSupport('MANAGE_PORTAL'), component: lazy(() => import('./screens/Portal')) },
  { path: '/patients', title: 'Patients', nav: true, permission: 'MANAGE_PATIENTS', component: lazy(() => import('./screens/Patients')) },
  { path: '/patients/new', title: 'Register a patient', nav: false, permission: 'MANAGE_PATIENTS', component: lazy(() => import('./screens/Patient')) },
  { path: '/patients/:id', title: 'Patient', nav: false, permission: 'MANAGE_PATIENTS', component: lazy(() => import('./screens/Patient')) },
  { path: '/appointments', title: 'Appointments', nav: true, permission: 'MANAGE_SCHEDULE', component: lazy(() => import('./screens/Appointments')) },
  { path: '/working-hours', title: 'Working hours', nav: true, permission: 'MANAGE_SCHEDULE', allow: ownSchedule, component: lazy(() => import('./screens/WorkingHours')) },
  { path: '/audit', title: 'Audit log', nav: true, permission: 'VIEW_AUDIT_LOG', allow: orSupport('VIEW_AUDIT_LOG'), component: lazy(() => import('./screens/Audit')) },
  { path: '/consumers', title: 'API consumers', nav: true, permission: 'OWNER', allow: ownerOrSupport, component: lazy(() => import('./screens/Consumers')) },
  { path: '/api-logs', title: 'API logs', nav: true, permission: 'OWNER', allow: ownerOrSupport, component: lazy(() => import('./screens/ApiLogs')) },
  { path: '/webhooks', title: 'Webhooks', nav: true, permission: 'OWNER', allow: ownerOrSupport, component: lazy(() => import('./screens/Webhooks')) },
  { path: '/security', title: 'Security policy', nav: true, permission: 'OWNER', allow: ownerOrSupport, component: lazy(() => import('./screens/Security')) },
  { path: '/account', title: 'My account', nav: true, permission: null, component: lazy(() => import('./screens/Account')) },
  { path: '/schema', title: 'Schema explorer', nav: true, permission: null, component: lazy(() => import('./screens/SchemaExplorer')), fullLoad: true },
];
