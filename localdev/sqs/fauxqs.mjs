// Starts fauxqs (a local SQS) on 127.0.0.1 and a free port, prints
// "listening PORT" once it accepts connections, and exits when its stdin
// closes, so it never outlives the process that started it. Never use
// fauxqs's CLI: it listens on every interface.
import { buildApp } from "fauxqs";

const port = Number(process.argv[2] ?? "0");
const app = buildApp({ logger: false }); // no host: queue URLs follow the request's Host
await app.listen({ port, host: "127.0.0.1" });
process.stdout.write(`listening ${app.server.address().port}\n`);
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
