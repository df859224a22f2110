export default function Handover() {
  return <h1>Handover</h1>;
}
