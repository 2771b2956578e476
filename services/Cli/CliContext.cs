using System.CommandLine;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dcis.Crisis.Cli;

/// <summary>Output format chosen with <c>--output</c>.</summary>
internal enum OutputFormat
{
    Table,
    Json,
}

/// <summary>
/// Global options (service endpoints, token, data directory, output format) and the helpers every
/// command uses: a gRPC channel per service carrying the token, and table/JSON printing.
/// </summary>
internal sealed class CliContext
{
    public Option<string> ThreatLevelsUrl { get; } = Endpoint("--threat-levels", "CRISIS_THREAT_LEVELS_URL", "http://127.0.0.1:5101", "threat-levels gRPC endpoint");

    public Option<string> ConsularUrl { get; } = Endpoint("--consular", "CRISIS_CONSULAR_URL", "http://127.0.0.1:5201", "consular gRPC endpoint");

    public Option<string> AdvisoriesUrl { get; } = Endpoint("--advisories", "CRISIS_ADVISORIES_URL", "http://127.0.0.1:5301", "advisories gRPC endpoint");

    public Option<string> NotificationsUrl { get; } = Endpoint("--notifications", "CRISIS_NOTIFICATIONS_URL", "http://127.0.0.1:5401", "notifications gRPC endpoint");

    // No DefaultValueFactory reading $CRISIS_TOKEN: help prints an option's default value, and so printed the bearer
    // token itself for anyone reading over a shoulder or a terminal recording. The variable is read when a call is made.
    public Option<string?> Token { get; } = new("--token")
    {
        Description = "Bearer token (default: $CRISIS_TOKEN). Get one with `crisis token`.",
        Recursive = true,
    };

    public Option<string> DataDir { get; } = new("--data-dir")
    {
        Description = "Data directory holding the development signing key (default: $DATA_DIR or ./.data).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DATA_DIR") is { Length: > 0 } d ? d : Path.Combine(Directory.GetCurrentDirectory(), ".data"),
    };

    public Option<OutputFormat> Output { get; } = new("--output", "-o")
    {
        Description = "Output format: table or json.",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
    };

    public void AddGlobalOptions(RootCommand root)
    {
        foreach (var option in new Option[] { ThreatLevelsUrl, ConsularUrl, AdvisoriesUrl, NotificationsUrl, Token, DataDir, Output })
        {
            root.Options.Add(option);
        }
    }

    /// <summary>A channel to the service at the endpoint option, with the token on every call.</summary>
    public GrpcChannel Channel(ParseResult parse, Option<string> endpoint)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var url = parse.GetValue(endpoint)!;
        var token = parse.GetValue(Token) ?? Environment.GetEnvironmentVariable("CRISIS_TOKEN");
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 };
        if (!string.IsNullOrWhiteSpace(token))
        {
            options.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("Authorization", $"Bearer {token}");
                return Task.CompletedTask;
            }));
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }

        return GrpcChannel.ForAddress(url, options);
    }

    /// <summary>Prints a proto response: JSON as-is, or the table built from it.</summary>
    public void Print(ParseResult parse, IMessage message, Func<IMessage, (string[] Header, IEnumerable<string[]> Rows)> table)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(table);
        if (parse.GetValue(Output) == OutputFormat.Json)
        {
            Console.WriteLine(JsonFormatter.Default.Format(message));
            return;
        }

        var (header, rows) = table(message);
        WriteTable(header, rows);
    }

    /// <summary>Prints any object as JSON, or a table.</summary>
    public void PrintRows(ParseResult parse, object json, string[] header, IEnumerable<string[]> rows)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.GetValue(Output) == OutputFormat.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(json));
            return;
        }

        WriteTable(header, rows);
    }

    /// <summary>Writes aligned columns.</summary>
    public static void WriteTable(string[] header, IEnumerable<string[]> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        var all = new List<string[]> { header };
        all.AddRange(rows);
        var widths = Enumerable.Range(0, header.Length).Select(i => all.Max(r => i < r.Length ? r[i].Length : 0)).ToArray();
        foreach (var row in all)
        {
            Console.WriteLine(string.Join("  ", row.Select((cell, i) => i < widths.Length - 1 ? cell.PadRight(widths[i]) : cell)).TrimEnd());
        }
    }

    /// <summary>
    /// Runs an RPC and turns a gRPC failure into a readable message and exit code 1, and an argument the
    /// command could not read (a leg, a contact, a date, a category) into one line and exit code 2, the
    /// code of System.CommandLine's own parse errors, instead of an unhandled exception's stack trace.
    /// </summary>
    public static async Task<int> RunAsync(Func<Task> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        try
        {
            await call();
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }
        catch (RpcException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.StatusCode}: {ex.Status.Detail}");
            var details = ex.GetRpcStatus()?.GetDetail<Google.Rpc.BadRequest>();
            foreach (var violation in details?.FieldViolations ?? [])
            {
                await Console.Error.WriteLineAsync($"  {violation.Field}: {violation.Description}");
            }

            return 1;
        }
    }

    private static Option<string> Endpoint(string name, string env, string fallback, string description) => new(name)
    {
        Description = $"{description} (default: ${env} or {fallback})",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(env) is { Length: > 0 } v ? v : fallback,
    };
}
