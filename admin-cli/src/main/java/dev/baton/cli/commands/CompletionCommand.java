package dev.baton.cli.commands;

import dev.baton.cli.BatonCli;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/**
 * {@code baton completion}: prints a completion script for bash and zsh, generated from the command model, so it
 * always knows every command and option of this version: {@code source <(baton completion)}.
 */
@Command(name = "completion", description = "Prints the bash/zsh completion script; load it with: source <(baton completion)")
public final class CompletionCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(AutoComplete.bash("baton", BatonCli.commandLine()));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
