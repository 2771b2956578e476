using System.CommandLine;
using Dcis.Crisis.Cli.Demo;

namespace Dcis.Crisis.Cli.Commands;

/// <summary><c>crisis demo seed|run</c>: the demo data and the scenario a person can watch on the dashboard.</summary>
internal static class DemoCommands
{
    public static Command Build(CliContext context)
    {
        var demo = new Command("demo", "Demo data and the crisis scenario.");

        var registrants = new Option<int>("--registrants") { Description = "Registrants to create.", DefaultValueFactory = _ => 5000 };
        var companies = new Option<int>("--companies") { Description = "Companies to create.", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same data).", DefaultValueFactory = _ => 20261129 };
        var country = new Option<string>("--country") { Description = "Country of the crisis.", DefaultValueFactory = _ => "ML" };
        var webhook = new Option<string?>("--webhook-url") { Description = "Demo receiver for company webhooks." };

        var seedCommand = new Command("seed", "Seed demo data once per data directory (posts come with the consular service).")
        {
            registrants, companies, seed, country, webhook,
        };
        seedCommand.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            using var clients = Clients(context, parse);
            var dataDir = parse.GetValue(context.DataDir)!;
            await new DemoSeeder(clients, new DemoTokens(dataDir), dataDir, Console.Out)
                .SeedAsync(parse.GetValue(registrants), parse.GetValue(companies), parse.GetValue(seed), parse.GetValue(country)!, parse.GetValue(webhook), ct);
        }));

        var runCommand = new Command("run", "Run the crisis scenario (seeds first if needed) and print each step with its figures.")
        {
            country, webhook,
        };
        runCommand.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            using var clients = Clients(context, parse);
            var dataDir = parse.GetValue(context.DataDir)!;
            var tokens = new DemoTokens(dataDir);
            var record = await new DemoSeeder(clients, tokens, dataDir, Console.Out)
                .SeedAsync(5000, 200, 20261129, parse.GetValue(country)!, parse.GetValue(webhook), ct);
            var figures = await new DemoScenario(clients, tokens, record, Console.Out).RunAsync(parse.GetValue(country)!, ct);
            context.PrintRows(parse, figures, ["figure", "value"],
            [
                ["recipients targeted", figures.RecipientsTargeted.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                ["sent", figures.Sent.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                ["confirmed delivered", figures.Confirmed.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                ["approval → first sent", figures.FirstSent?.TotalSeconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + " s"],
                ["approval → last sent", figures.LastSent?.TotalSeconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + " s"],
                ["companies advised", figures.Advisories.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                ["wellbeing answers", figures.WellbeingAnswers.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            ]);
        }));

        demo.Subcommands.Add(seedCommand);
        demo.Subcommands.Add(runCommand);
        return demo;
    }

    private static DemoClients Clients(CliContext context, ParseResult parse) => new(
        parse.GetValue(context.ThreatLevelsUrl)!, parse.GetValue(context.ConsularUrl)!,
        parse.GetValue(context.AdvisoriesUrl)!, parse.GetValue(context.NotificationsUrl)!);
}
