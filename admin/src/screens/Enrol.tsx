import { run } from '../api';
import { graphql } from '../gql';
import { navigate } from '../router';
import { clearToken } from '../session';
import { Message } from '../ui';
import { useViewer } from '../viewer';
import TwoFactor from './TwoFactor';

const EnrolLogoutDocument = graphql(`
  mutation EnrolLogout {
    logout {
      errors {
        code
        message
      }
    }
  }
`);

/** The only page of a session the organization holds back until it has a second factor. */
export default function Enrol({ onDone }: { onDone: () => void }) {
  const viewer = useViewer();
  const signOut = async () => {
    await run(EnrolLogoutDocument);
    clearToken();
    navigate('/', true);
  };
  return (
    <main className="narrow" id="main">
      <h1>Set up a second factor</h1>
      <Message kind="info">{viewer.organization.name} requires a second factor for every account. Set it up to continue.</Message>
      <TwoFactor enabled={false} onChange={onDone} />
      <p>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </p>
    </main>
  );
}
