// Services shared by the whole run are started here (Kafka joins in its own issue).
export default function setup(): void {}
