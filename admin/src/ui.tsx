// Plain semantic HTML components: every control has a visible label, errors are tied to
// their control with aria-describedby, and messages are announced through live regions.
import { type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, useId, useState } from 'react';
import { pageCursors } from './logic';

export function FieldErrors({ id, messages }: { id: string; messages?: string[] }) {
  if (!messages || messages.length === 0) return null;
  return (
    <p className="field-error" id={id} role="alert">
      {messages.join(' ')}
    </p>
  );
}

type InputProps = { label: string; errors?: string[]; hint?: string } & InputHTMLAttributes<HTMLInputElement>;

export function TextField({ label, errors, hint, ...rest }: InputProps) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [hint ? hintId : '', errors?.length ? errorId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      <input id={id} aria-invalid={errors?.length ? true : undefined} aria-describedby={describedBy} {...rest} />
      <FieldErrors id={errorId} messages={errors} />
    </div>
  );
}

type SelectProps = {
  label: string;
  errors?: string[];
  options: readonly { value: string; label: string }[];
} & SelectHTMLAttributes<HTMLSelectElement>;

export function SelectField({ label, errors, options, ...rest }: SelectProps) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} aria-invalid={errors?.length ? true : undefined} aria-describedby={errors?.length ? errorId : undefined} {...rest}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      <FieldErrors id={errorId} messages={errors} />
    </div>
  );
}

export function Message({ kind, children }: { kind: 'error' | 'info' | 'success'; children: ReactNode }) {
  if (!children) return null;
  return (
    <div className={`message message-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A network failure or a top-level error (FORBIDDEN included), as a message. */
export function Failure({ networkError, text }: { networkError?: boolean; text: string | null }) {
  if (networkError) return <Message kind="error">The server could not be reached. Check the connection and try again.</Message>;
  return text ? <Message kind="error">{text}</Message> : null;
}

export function Loading() {
  return (
    <p role="status" aria-live="polite">
      Loading…
    </p>
  );
}

/** Relay cursor paging: the cursors of the pages walked so far (null for the first);
 * `after` is the last one, the page shown; `setCursors([null])` goes back to the first. */
export function useCursors() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return { cursors, setCursors, after: cursors[cursors.length - 1] };
}

/** Previous and next page of a connection, each disabled where there is none. */
export function Pager({
  cursors,
  setCursors,
  pageInfo,
  previous = 'Previous page',
  next = 'Next page',
}: {
  cursors: (string | null)[];
  setCursors: (cursors: (string | null)[]) => void;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  previous?: string;
  next?: string;
}) {
  return (
    <nav aria-label="Pages" className="pager">
      <button type="button" className="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
        {previous}
      </button>{' '}
      <button type="button" className="secondary" disabled={!pageInfo.hasNextPage} onClick={() => setCursors(pageCursors(cursors, pageInfo.endCursor ?? null))}>
        {next}
      </button>
    </nav>
  );
}
