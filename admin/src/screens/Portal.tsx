import { type FormEvent, useEffect, useState } from 'react';
import { run, runUpload } from '../api';
import { graphql } from '../gql';
import type { AppointmentStatus, NotificationLogin, PortalSettingsQuery } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, humanize, unplacedErrors } from '../logic';
import { FieldErrors, Failure, Loading, Message, SelectField } from '../ui';
import { useViewer } from '../viewer';


const PortalSettingsDocument = graphql(`
  query PortalSettings {
    portalSettings {
      portalEnabled
      portalAccessible
      accessibleForNewPatients
      selfRegistration
      conversationResponses
      portalBilling
      extraSearchableIdentifications
      otpTimeoutMinutes
      hiddenAppointmentStatuses
      notificationLogin
      backgroundImage {
        url
        contentType
        width
        height
        size
      }
    }
  }
`);

const UpdatePortalSettingsDocument = graphql(`
  mutation UpdatePortalSettings($input: UpdatePortalSettingsInput!) {
    updatePortalSettings(input: $input) {
      portalSettings {
        portalEnabled
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const UploadBackgroundDocument = graphql(`
  mutation UploadPortalBackgroundImage($input: UploadPortalBackgroundImageInput!) {
    uploadPortalBackgroundImage(input: $input) {
      image {
        url
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const RemoveBackgroundDocument = graphql(`
  mutation RemovePortalBackgroundImage {
    removePortalBackgroundImage {
      portalSettings {
        portalEnabled
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const EnablePortalDocument = graphql(`
  mutation EnablePortal {
    enablePortal {
      organization {
        id
        portalEnabled
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const DisablePortalDocument = graphql(`
  mutation DisablePortal {
    disablePortal {
      organization {
        id
        portalEnabled
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

type Settings = NonNullable<PortalSettingsQuery['portalSettings']>;
type Flag = 'portalAccessible' | 'accessibleForNewPatients' | 'selfRegistration' | 'conversationResponses' | 'portalBilling' | 'extraSearchableIdentifications';

const FLAGS: { key: Flag; label: string; hint: string }[] = [
  { key: 'portalAccessible', label: 'Patients can reach the portal', hint: 'Off: no patient can sign in to the portal.' },
  { key: 'accessibleForNewPatients', label: 'New patients get portal access', hint: 'Applies to patients registered from now on.' },
  { key: 'selfRegistration', label: 'Patients may register themselves', hint: '' },
  { key: 'conversationResponses', label: 'Patients may answer messages', hint: 'The default for new messages; each message may differ.' },
  { key: 'portalBilling', label: 'Billing in the portal', hint: 'Needs a connected Stripe account.' },
  { key: 'extraSearchableIdentifications', label: 'Search by other identifiers', hint: '' },
];
const STATUSES: AppointmentStatus[] = ['BOOKED', 'CONFIRMED', 'ARRIVED', 'COMPLETED', 'CANCELLED', 'NO_SHOW'];
const TIMEOUTS = [5, 10, 15, 30, 60];

type Outcome = { done: string | null; failure: string | null; networkError: boolean; errors: Map<string, string[]> };
const NONE: Outcome = { done: null, failure: null, networkError: false, errors: new Map() };

function SettingsForm({ settings, onSaved }: { settings: Settings; onSaved: () => void }) {
  const [draft, setDraft] = useState(settings);
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  useEffect(() => setDraft(settings), [settings]);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const input = {
      portalAccessible: draft.portalAccessible,
      accessibleForNewPatients: draft.accessibleForNewPatients,
      selfRegistration: draft.selfRegistration,
      conversationResponses: draft.conversationResponses,
      portalBilling: draft.portalBilling,
      extraSearchableIdentifications: draft.extraSearchableIdentifications,
      otpTimeoutMinutes: draft.otpTimeoutMinutes,
      hiddenAppointmentStatuses: draft.hiddenAppointmentStatuses,
      notificationLogin: draft.notificationLogin,
    };
    const result = await run(UpdatePortalSettingsDocument, { input });
    const payload = result.data?.updatePortalSettings;
    const ok = !!payload && payload.errors.length === 0;
    setOutcome({ done: ok ? 'The portal settings are saved.' : null, failure: describeErrors(result.errors), networkError: result.networkError, errors: errorsByField(payload?.errors ?? []) });
    if (ok) onSaved();
  };
  const shown = [...FLAGS.map((flag) => flag.key), 'otpTimeoutMinutes', 'hiddenAppointmentStatuses', 'notificationLogin'];
  const general = unplacedErrors(outcome.errors, shown);
  return (
    <form onSubmit={save} aria-labelledby="settings-title" noValidate>
      <h2 id="settings-title">Settings</h2>
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure ?? (general.length ? general.join(' ') : null)} />
      {FLAGS.map((flag) => {
        const errors = outcome.errors.get(flag.key);
        const errorId = `${flag.key}-error`;
        const hintId = `${flag.key}-hint`;
        return (
          <div className="field" key={flag.key}>
            <label className="check">
              <input
                type="checkbox"
                checked={draft[flag.key]}
                onChange={(e) => setDraft({ ...draft, [flag.key]: e.target.checked })}
                aria-invalid={errors ? true : undefined}
                aria-describedby={[flag.hint ? hintId : '', errors ? errorId : ''].filter(Boolean).join(' ') || undefined}
              />
              {flag.label}
            </label>
            {flag.hint ? (
              <p className="hint" id={hintId}>
                {flag.hint}
              </p>
            ) : null}
            <FieldErrors id={errorId} messages={errors} />
          </div>
        );
      })}
      <SelectField
        label="One-time code expires after"
        value={String(draft.otpTimeoutMinutes)}
        onChange={(e) => setDraft({ ...draft, otpTimeoutMinutes: Number(e.target.value) })}
        options={TIMEOUTS.map((minutes) => ({ value: String(minutes), label: `${minutes} minutes` }))}
        errors={outcome.errors.get('otpTimeoutMinutes')}
      />
      <SelectField
        label="How patients sign in from a notification"
        value={draft.notificationLogin}
        onChange={(e) => setDraft({ ...draft, notificationLogin: e.target.value as NotificationLogin })}
        options={[
          { value: 'OTP_AND_DATE_OF_BIRTH', label: 'One-time code and date of birth' },
          { value: 'ID_AND_DATE_OF_BIRTH', label: 'Identifier and date of birth' },
        ]}
        errors={outcome.errors.get('notificationLogin')}
      />
      <fieldset>
        <legend>Appointment statuses hidden from patients</legend>
        {STATUSES.map((status) => (
          <label key={status} className="check">
            <input
              type="checkbox"
              checked={draft.hiddenAppointmentStatuses.includes(status)}
              onChange={(e) =>
                setDraft({
                  ...draft,
                  hiddenAppointmentStatuses: e.target.checked ? [...draft.hiddenAppointmentStatuses, status] : draft.hiddenAppointmentStatuses.filter((x) => x !== status),
                })
              }
            />
            {humanize(status)}
          </label>
        ))}
        <FieldErrors id="hidden-statuses-error" messages={outcome.errors.get('hiddenAppointmentStatuses')} />
      </fieldset>
      <button type="submit">Save the portal settings</button>
    </form>
  );
}

function BackgroundImage({ image, onChanged }: { image: Settings['backgroundImage']; onChanged: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const upload = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) {
      setOutcome({ ...NONE, errors: new Map([['file', ['Choose a PNG or JPEG file.']]]) });
      return;
    }
    const result = await runUpload(UploadBackgroundDocument, { input: { file: null as unknown as File } }, { 'variables.input.file': file });
    const payload = result.data?.uploadPortalBackgroundImage;
    const ok = !!payload && payload.errors.length === 0;
    setOutcome({ done: ok ? 'The background image is saved.' : null, failure: describeErrors(result.errors), networkError: result.networkError, errors: errorsByField(payload?.errors ?? []) });
    if (ok) onChanged();
  };
  const remove = async () => {
    const result = await run(RemoveBackgroundDocument);
    const payload = result.data?.removePortalBackgroundImage;
    const ok = !!payload && payload.errors.length === 0;
    setOutcome({ done: ok ? 'The background image is removed.' : null, failure: describeErrors(result.errors), networkError: result.networkError, errors: errorsByField(payload?.errors ?? []) });
    if (ok) onChanged();
  };
  const errors = outcome.errors.get('file');
  const general = unplacedErrors(outcome.errors, ['file']);
  return (
    <section aria-labelledby="background-title">
      <h2 id="background-title">Background image</h2>
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure ?? (general.length ? general.join(' ') : null)} />
      {image ? (
        <figure>
          <img src={image.url} alt="The portal's background image" className="preview" width={Math.min(image.width, 480)} />
          <figcaption>
            {image.width} × {image.height} pixels, {Math.round(image.size / 1024)} KB ({image.contentType})
          </figcaption>
          <button type="button" className="secondary" onClick={remove}>
            Remove the background image
          </button>
        </figure>
      ) : (
        <p>No background image.</p>
      )}
      <form onSubmit={upload} aria-label="Upload a background image" noValidate>
        <div className="field">
          <label htmlFor="background-file">Image file (PNG or JPEG, at most 5 MiB)</label>
          <input id="background-file" type="file" accept="image/png,image/jpeg" aria-invalid={errors ? true : undefined} aria-describedby={errors ? 'background-file-error' : undefined} onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          <FieldErrors id="background-file-error" messages={errors} />
        </div>
        <button type="submit">Upload the image</button>
      </form>
    </section>
  );
}

function Switch({ enabled, onChanged }: { enabled: boolean; onChanged: () => void }) {
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const toggle = async () => {
    const result = enabled ? await run(DisablePortalDocument) : await run(EnablePortalDocument);
    const payload = result.data ? ('enablePortal' in result.data ? result.data.enablePortal : result.data.disablePortal) : null;
    const ok = !!payload && payload.errors.length === 0;
    setOutcome({ done: ok ? (enabled ? 'The portal is disabled.' : 'The portal is enabled.') : null, failure: describeErrors(result.errors) ?? (payload?.errors.map((e) => e.message).join(' ') || null), networkError: result.networkError, errors: new Map() });
    if (ok) onChanged();
  };
  return (
    <div>
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure} />
      <button type="button" onClick={toggle}>
        {enabled ? 'Disable the portal' : 'Enable the portal'}
      </button>
    </div>
  );
}

export default function Portal() {
  const viewer = useViewer();
  const query = useQuery(PortalSettingsDocument);
  if (query.loading && !query.data) return <Loading />;
  const settings = query.data?.portalSettings;
  if (!settings) return <Failure networkError={query.networkError} text={query.failure ?? 'The portal settings could not be read.'} />;
  const mayswitch = viewer.kind === 'SUPPORT' || !!viewer.user?.isOwner;
  return (
    <section aria-labelledby="portal-title">
      <h1 id="portal-title">Patient portal</h1>
      <p>
        The portal is <strong>{settings.portalEnabled ? 'enabled' : 'disabled'}</strong>. Settings can be prepared while it is disabled. Each patient's access is set on the patient's page.
      </p>
      {mayswitch ? <Switch enabled={settings.portalEnabled} onChanged={query.reload} /> : null}
      <SettingsForm settings={settings} onSaved={query.reload} />
      <BackgroundImage image={settings.backgroundImage} onChanged={query.reload} />
    </section>
  );
}
