using System.CommandLine;
using Dcis.Crisis.Cli.Commands;

namespace Dcis.Crisis.Cli;

/// <summary>The command tree. Each area adds its commands with one line here.</summary>
internal static class CrisisCli
{
    public static RootCommand Build()
    {
        var context = new CliContext();
        var root = new RootCommand("crisis — command-line client of Dcis.Crisis (threat levels, consular liaison, company advisories, notifications).");
        context.AddGlobalOptions(root);
        root.Subcommands.Add(TokenCommand.Build(context));
        root.Subcommands.Add(DemoCommands.Build(context));
        // Area commands register below, one line each.
        root.Subcommands.Add(NotificationsCommands.Build(context));
        root.Subcommands.Add(NotificationsCommands.BuildInbox(context));
        AdvisoriesCommands.BuildAll(context).ToList().ForEach(root.Subcommands.Add);
        ConsularCommands.BuildAll(context).ToList().ForEach(root.Subcommands.Add);
        ThreatLevelsCommands.BuildAll(context).ToList().ForEach(root.Subcommands.Add);
        return root;
    }
}
