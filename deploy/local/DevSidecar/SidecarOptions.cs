namespace Dcis.Crisis.DevSidecar;

/// <summary>The daprd flags and environment variables the dev sidecar honours.</summary>
public sealed record SidecarOptions
{
    public string AppId { get; init; } = "";
    public int AppPort { get; init; }
    public string AppProtocol { get; init; } = "http";
    public string AppChannelAddress { get; init; } = "127.0.0.1";
    public int DaprHttpPort { get; init; } = 3500;
    public int DaprGrpcPort { get; init; } = 50001;
    public IReadOnlyList<string> ResourcesPaths { get; init; } = [];
    public string? ConfigPath { get; init; }
    public int AppMaxConcurrency { get; init; } = -1;
    public string LogLevel { get; init; } = "info";
    public string? DaprApiToken { get; init; }
    public string? AppApiToken { get; init; }
    public IReadOnlyList<string> IgnoredFlags { get; init; } = [];

    /// <summary>Parses daprd-style flags (<c>--flag value</c>, <c>--flag=value</c>, single or double dash).</summary>
    public static SidecarOptions Parse(IReadOnlyList<string> args, Func<string, string?> env)
    {
        var options = new SidecarOptions
        {
            AppId = env("APP_ID") ?? "",
            DaprApiToken = NullIfEmpty(env("DAPR_API_TOKEN")),
            AppApiToken = NullIfEmpty(env("APP_API_TOKEN")),
        };
        var resources = new List<string>();
        var ignored = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-'))
            {
                throw new ArgumentException($"Unexpected argument '{arg}'.");
            }

            var name = arg.TrimStart('-');
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            string Value()
            {
                if (value is not null)
                {
                    return value;
                }

                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"Flag --{name} needs a value.");
                }

                return args[++i];
            }

            switch (name)
            {
                case "app-id": options = options with { AppId = Value() }; break;
                case "app-port": options = options with { AppPort = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) }; break;
                case "app-protocol": options = options with { AppProtocol = Value() }; break;
                case "app-channel-address": options = options with { AppChannelAddress = Value() }; break;
                case "dapr-http-port": options = options with { DaprHttpPort = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) }; break;
                case "dapr-grpc-port": options = options with { DaprGrpcPort = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) }; break;
                case "resources-path" or "components-path": resources.Add(Value()); break;
                case "config": options = options with { ConfigPath = Value() }; break;
                case "app-max-concurrency": options = options with { AppMaxConcurrency = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) }; break;
                case "log-level": options = options with { LogLevel = Value() }; break;
                default:
                    // Flags daprd knows but the dev sidecar does not implement (metrics, placement, ...):
                    // accepted so that a command line written for daprd still starts.
                    if (value is null && i + 1 < args.Count && !args[i + 1].StartsWith('-'))
                    {
                        i++;
                    }

                    ignored.Add(name);
                    break;
            }
        }

        if (options.AppId.Length == 0)
        {
            throw new ArgumentException("--app-id is required.");
        }

        if (options.AppProtocol is not "http")
        {
            throw new ArgumentException($"--app-protocol {options.AppProtocol} is not supported by the dev sidecar (only http).");
        }

        return options with { ResourcesPaths = resources, IgnoredFlags = ignored };
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
