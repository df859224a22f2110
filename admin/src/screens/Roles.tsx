import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { Permission } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, humanize, unplacedErrors } from '../logic';
import { Failure, Loading, Message, TextField } from '../ui';
import { useCan } from '../viewer';
import { ALL_PERMISSIONS } from './Member';

const RolesDocument = graphql(`
  query Roles {
    roles {
      id
      name
      description
      builtin
      permissions
    }
  }
`);

const CreateRoleDocument = graphql(`
  mutation CreateRole($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        id
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const UpdateRoleDocument = graphql(`
  mutation UpdateRole($input: UpdateRoleInput!) {
    updateRole(input: $input) {
      role {
        id
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const DeleteRoleDocument = graphql(`
  mutation DeleteRole($input: DeleteRoleInput!) {
    deleteRole(input: $input) {
      deletedRoleId
      errors {
        code
        message
        field
      }
    }
  }
`);

function PermissionBoxes({ legend, value, onChange }: { legend: string; value: Permission[]; onChange: (next: Permission[]) => void }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {ALL_PERMISSIONS.map((permission) => (
        <label key={permission} className="check">
          <input type="checkbox" checked={value.includes(permission)} onChange={(e) => onChange(e.target.checked ? [...value, permission] : value.filter((x) => x !== permission))} />
          {humanize(permission)}
        </label>
      ))}
    </fieldset>
  );
}

export default function Roles() {
  const can = useCan();
  const query = useQuery(RolesDocument);
  const [name, setName] = useState('');
  const [permissions, setPermissions] = useState<Permission[]>([]);
  const [editing, setEditing] = useState<{ id: string; permissions: Permission[] } | null>(null);
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  if (query.loading && !query.data) return <Loading />;
  const roles = query.data?.roles;
  if (!roles) return <Failure networkError={query.networkError} text={query.failure} />;

  const finish = (
    result: { errors: { message: string; extensions?: { code?: string } }[]; networkError: boolean },
    payload: { errors: { code: string; message: string; field?: readonly string[] | null }[] } | null | undefined,
    message: string,
  ) => {
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    setErrors(errorsByField(payload?.errors ?? []));
    if (payload && payload.errors.length === 0) {
      setDone(message);
      setPassword('');
      setEditing(null);
      query.reload();
      return true;
    }
    setDone(null);
    return false;
  };

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const result = await run(CreateRoleDocument, { input: { name, permissions } });
    if (finish(result, result.data?.createRole, `The role ${name} is created.`)) {
      setName('');
      setPermissions([]);
    }
  };

  const update = async (event: FormEvent) => {
    event.preventDefault();
    if (!editing) return;
    const result = await run(UpdateRoleDocument, { input: { roleId: editing.id, permissions: editing.permissions, password } });
    finish(result, result.data?.updateRole, 'The role is saved.');
  };

  const remove = async (roleId: string) => {
    const result = await run(DeleteRoleDocument, { input: { roleId } });
    finish(result, result.data?.deleteRole, 'The role is deleted.');
  };

  const general = unplacedErrors(errors, ['name', 'password', 'permissions']);
  return (
    <section aria-labelledby="roles-title">
      <h1 id="roles-title">Roles and permissions</h1>
      {done ? <Message kind="success">{done}</Message> : null}
      <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
      <table>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Permissions</th>
            {can('EDIT_ROLES') ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {roles.map((role) => (
            <tr key={role.id}>
              <th scope="row">
                {role.name}
                {role.builtin ? ' (built in)' : ''}
              </th>
              <td>{role.permissions.map(humanize).join(', ')}</td>
              {can('EDIT_ROLES') ? (
                <td>
                  <button type="button" className="secondary" onClick={() => setEditing({ id: role.id, permissions: [...role.permissions] })}>
                    Edit {role.name}
                  </button>{' '}
                  {!role.builtin ? (
                    <button type="button" className="secondary" onClick={() => remove(role.id)}>
                      Delete {role.name}
                    </button>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      {editing ? (
        <form onSubmit={update} aria-labelledby="edit-role-title" noValidate>
          <h2 id="edit-role-title">Edit {roles.find((role) => role.id === editing.id)?.name}</h2>
          <PermissionBoxes legend="Permissions" value={editing.permissions} onChange={(next) => setEditing({ ...editing, permissions: next })} />
          {errors.get('permissions') ? <p className="field-error">{errors.get('permissions')!.join(' ')}</p> : null}
          <TextField label="Your password, to confirm" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} errors={errors.get('password')} />
          <button type="submit">Save the role</button>{' '}
          <button type="button" className="secondary" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </form>
      ) : null}
      {can('EDIT_ROLES') ? (
        <form onSubmit={create} aria-labelledby="new-role-title" noValidate>
          <h2 id="new-role-title">New role</h2>
          <TextField label="Role name" value={name} onChange={(e) => setName(e.target.value)} errors={errors.get('name')} />
          <PermissionBoxes legend="Permissions of the new role" value={permissions} onChange={setPermissions} />
          <button type="submit">Create the role</button>
        </form>
      ) : null}
    </section>
  );
}
