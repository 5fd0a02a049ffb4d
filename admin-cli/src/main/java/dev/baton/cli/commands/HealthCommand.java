package dev.baton.cli.commands;

import dev.baton.admin.api.Health;
import dev.baton.cli.AdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintWriter;

/** {@code baton health}: can Baton route, and to which writer? */
@Command(name = "health", description = "Shows whether Baton can route clients and to which writer; exit 1 if not.")
public final class HealthCommand extends BaseCommand {
    @Mixin
    JsonOutput output;

    @Override
    public Integer call() throws Exception {
        AdminClient.Reply reply = client().send("/healthz", null, false);
        PrintWriter out = out();
        if (reply.status() != 200 && reply.status() != 503) {
            throw new IllegalStateException(client().url() + " answered HTTP " + reply.status() + ": " + reply.body().strip());
        }
        if (output.printed(out, reply)) {
            return reply.status() == 200 ? 0 : 1;
        }
        if (reply.status() == 503) {
            out.println("no writer: " + reply.as(Health.NoWriter.class).reason());
            return 1;
        }
        Health health = reply.as(Health.class);
        out.println("ok: writer " + health.writer() + " (epoch " + health.epoch() + "), " + health.sessions()
                + " client session(s)");
        if (health.warning() != null) {
            out.println("warning: " + health.warning());
        }
        return 0;
    }
}
