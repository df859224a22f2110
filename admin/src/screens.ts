// Every signed-in screen, in one list: its path, its title, whether it appears in the
// navigation, and the permission that shows it. Adding a screen is one entry here and
// one component under screens/ (admin/README.md).
import { type ComponentType, lazy } from 'react';
import Members from './screens/Members';

export type Screen = {
  path: string;
  title: string;
  nav: boolean;
  /** The permission the viewer needs to see the screen (null: every signed-in user). */
  permission: string | null;
  component: ComponentType<{ params: Record<string, string> }>;
  /** Opened by a full page load, for a screen the server serves with its own policy. */
  fullLoad?: boolean;
};

export const screens: Screen[] = [
  { path: '/', title: 'Members', nav: false, permission: 'VIEW_USERS', component: Members },
  { path: '/members', title: 'Members', nav: true, permission: 'VIEW_USERS', component: Members },
  { path: '/members/invite', title: 'Invite a member', nav: false, permission: 'EDIT_OTHER_USERS', component: lazy(() => import('./screens/Invite')) },
  { path: '/members/:id', title: 'Member', nav: false, permission: 'VIEW_USERS', component: lazy(() => import('./screens/Member')) },
  { path: '/members/:id/deactivate', title: 'Deactivate', nav: false, permission: 'EDIT_OTHER_USERS', component: lazy(() => import('./screens/Deactivate')) },
  { path: '/members/:id/handover', title: 'Handover report', nav: false, permission: 'EDIT_OTHER_USERS', component: lazy(() => import('./screens/Handover')) },
  { path: '/unmapped', title: 'Unmapped users', nav: true, permission: 'EDIT_OTHER_USERS', component: lazy(() => import('./screens/Unmapped')) },
  { path: '/roles', title: 'Roles and permissions', nav: true, permission: 'VIEW_USERS', component: lazy(() => import('./screens/Roles')) },
  { path: '/schema', title: 'Schema explorer', nav: true, permission: null, component: lazy(() => import('./screens/SchemaExplorer')), fullLoad: true },
];
