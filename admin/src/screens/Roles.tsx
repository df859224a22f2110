export default function Roles() {
  return <h1>Roles</h1>;
}
