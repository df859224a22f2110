export default function Unmapped() {
  return <h1>Unmapped</h1>;
}
