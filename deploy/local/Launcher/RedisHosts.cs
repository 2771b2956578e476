using System.Globalization;
using System.Net.Sockets;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dcis.Crisis.Launcher;

/// <summary>
/// The Redis servers that the components name (<c>redisHost</c> of <c>pubsub.redis</c>/<c>state.redis</c>
/// components) and whether one answers there: a reachable one is used as it is, as <c>dapr run</c>
/// would (e.g. the Redis of <c>dapr init</c> on localhost:6379); otherwise the launcher starts its own.
/// </summary>
public static class RedisHosts
{
    /// <summary>The distinct <c>redisHost</c> values of the Redis components in the folders.</summary>
    public static IReadOnlyList<string> Named(IEnumerable<string> resourceDirectories)
    {
        ArgumentNullException.ThrowIfNull(resourceDirectories);
        var hosts = new List<string>();
        foreach (var directory in resourceDirectories.Distinct().Where(Directory.Exists))
        {
            foreach (var file in Directory.GetFiles(directory, "*.yaml").Concat(Directory.GetFiles(directory, "*.yml")).Order(StringComparer.Ordinal))
            {
                foreach (var host in FromFile(file).Where(h => !hosts.Contains(h)))
                {
                    hosts.Add(host);
                }
            }
        }

        return hosts;
    }

    private static List<string> FromFile(string file)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = File.OpenText(file);
            stream.Load(reader);
        }
        catch (YamlException)
        {
            // Not YAML the sidecar could read either; the sidecar reports it.
            return [];
        }

        var hosts = new List<string>();
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is not YamlMappingNode root || Scalar(root, "kind") != "Component"
                || Child(root, "spec") is not YamlMappingNode spec
                || Scalar(spec, "type") is not ("pubsub.redis" or "state.redis")
                || Child(spec, "metadata") is not YamlSequenceNode metadata)
            {
                continue;
            }

            foreach (var item in metadata.Children.OfType<YamlMappingNode>())
            {
                if (Scalar(item, "name") == "redisHost" && Scalar(item, "value") is { Length: > 0 } value)
                {
                    hosts.Add(value);
                }
            }
        }

        return hosts;
    }

    /// <summary>True when a Redis server answers PING at <paramref name="host"/> ("host:port", port 6379 by default).</summary>
    public static async Task<bool> AnswersAsync(string host, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(host);
        var separator = host.LastIndexOf(':');
        var name = separator > 0 ? host[..separator].Trim('[', ']') : host;
        var port = separator > 0 && int.TryParse(host[(separator + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 6379;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(name, port, cts.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cts.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, cts.Token);
            var reply = System.Text.Encoding.ASCII.GetString(buffer, 0, read);
            // A password-protected server answers NOAUTH: it is there, and the component carries its password.
            return reply.StartsWith("+PONG", StringComparison.Ordinal) || reply.StartsWith("-NOAUTH", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlMappingNode map, string key) => (Child(map, key) as YamlScalarNode)?.Value;
}
