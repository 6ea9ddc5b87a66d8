/** A round avatar with the first character of a name, coloured by the name. */

const AVATAR_COLOURS = 8;

/** The colour class of `name`'s avatar: the same name always gets the same colour. */
export function avatarColour(name: string): number {
  let hash = 0;
  for (const char of name.toLowerCase()) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return hash % AVATAR_COLOURS;
}

/** The avatar of `name`; text only (Preact sets it as a text node). */
export function Avatar(props: { readonly name: string; readonly className?: string }) {
  const first = Array.from(props.name)[0] ?? "?";
  return (
    <span
      class={`${props.className ?? "avatar"} avatar--c${avatarColour(props.name)}`}
      aria-hidden="true"
    >
      {first.toUpperCase()}
    </span>
  );
}
