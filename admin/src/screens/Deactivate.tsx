export default function Deactivate() {
  return <h1>Deactivate</h1>;
}
