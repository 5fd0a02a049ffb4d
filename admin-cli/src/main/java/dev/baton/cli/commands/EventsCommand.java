package dev.baton.cli.commands;

import dev.baton.admin.api.Events;
import dev.baton.cli.AdminClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintWriter;

/** {@code baton events}: the audit trail of writer and node changes. */
@Command(name = "events", description = "Shows recent writer changes and node state changes, oldest first.")
public final class EventsCommand extends BaseCommand {
    @Mixin
    JsonOutput output;

    @Override
    public Integer call() throws Exception {
        AdminClient.Reply reply = client().getOk("/api/v1/events");
        PrintWriter out = out();
        if (output.printed(out, reply)) {
            return 0;
        }
        Events events = reply.as(Events.class);
        if (events.events().isEmpty()) {
            out.println("no events yet");
        }
        for (Events.Event e : events.events()) {
            out.printf("%s  %-6s %s  (by %s)%n", e.time(), e.kind(), e.description(), e.requestedBy());
        }
        return 0;
    }
}
