// Who is signed in, their permissions and the organization's time zone, for every screen.
import { createContext, useContext } from 'react';
import { graphql } from './gql';
import type { ViewerQuery } from './gql/graphql';
import { formatDateTime, hasPermission } from './logic';

export const ViewerDocument = graphql(`
  query Viewer {
    viewer {
      kind
      organization {
        id
        name
        timeZone
        securityPolicy {
          requireTwoFactor
          sessionIdleTimeoutMinutes
        }
      }
      user {
        id
        email
        firstName
        lastName
        type
        permissions
        isOwner
        twoFactorEnabled
      }
    }
  }
`);

export type ViewerInfo = ViewerQuery['viewer'];

export const ViewerContext = createContext<ViewerInfo | null>(null);

export function useViewer(): ViewerInfo {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error('useViewer outside a signed-in screen');
  return viewer;
}

export function useCan(): (permission: string) => boolean {
  const viewer = useViewer();
  return (permission) => hasPermission(viewer.user?.permissions, permission);
}

/** Formats an instant in the organization's time zone. */
export function useDateTime(): (iso: string | null | undefined) => string {
  const viewer = useViewer();
  return (iso) => formatDateTime(iso, viewer.organization.timeZone);
}
