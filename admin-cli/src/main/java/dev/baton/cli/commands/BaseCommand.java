package dev.baton.cli.commands;

import dev.baton.cli.AdminClient;
import dev.baton.cli.BatonCli;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * What every {@code baton} command shares: the admin API named by the inherited {@code --url} and {@code --token},
 * and the output stream. A command returns its exit code: 0 good, 1 the answer is bad.
 */
public abstract class BaseCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    BatonCli root;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    protected AdminClient client() {
        return root.client();
    }

    protected PrintWriter out() {
        return spec.commandLine().getOut();
    }
}
