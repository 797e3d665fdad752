/** What makes an MQTT topic unfit for publishing, or null when it is fine for msg.topic. */
export function topicProblem(topic: string): string | null {
  if (!topic.startsWith("voevent/")) return "does not start with voevent/";
  if (topic.endsWith("/")) return "ends with '/'";
  if (topic.includes("//")) return "has an empty level";
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 35) return "has '#'";
    if (c === 43) return "has '+'";
    if (c < 32 || (c >= 127 && c <= 159)) return `has control character ${c}`;
  }
  return null;
}
