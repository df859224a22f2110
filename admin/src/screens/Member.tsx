export default function Member() {
  return <h1>Member</h1>;
}
