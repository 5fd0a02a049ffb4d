package dev.baton.cli.commands;

import dev.baton.cli.AdminClient;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** {@code --json}: print the admin API's answer as it came instead of the table, for scripts. */
public final class JsonOutput {
    @Option(names = "--json", description = "Print the admin API's JSON as it is.")
    boolean json;

    /** Prints the raw answer when {@code --json} was given; returns whether it did. */
    boolean printed(PrintWriter out, AdminClient.Reply reply) {
        if (json) {
            out.println(reply.body().strip());
        }
        return json;
    }
}
