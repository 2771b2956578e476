using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Dcis.Crisis.Launcher;

/// <summary>One app of a Multi-App Run file, with paths resolved against the file's folder.</summary>
public sealed record AppSpec(
    string AppId,
    string AppDirPath,
    int? AppPort,
    int? DaprHttpPort,
    int? DaprGrpcPort,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<string> ResourcesPaths,
    string AppProtocol,
    int? AppMaxConcurrency,
    string? ConfigFilePath);

/// <summary>Reads the Dapr Multi-App Run template (<c>version</c>, <c>common</c>, <c>apps</c>; DAPR-CONTRACT.md §8).</summary>
public static class RunFile
{
    public static List<AppSpec> Load(string path)
    {
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var stream = new YamlStream();
        using (var reader = File.OpenText(path))
        {
            stream.Load(reader);
        }

        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var common = Map(root, "common");
        var apps = new List<AppSpec>();
        if (Child(root, "apps") is not YamlSequenceNode list)
        {
            throw new InvalidOperationException($"{path}: no apps");
        }

        foreach (var node in list.Children.OfType<YamlMappingNode>())
        {
            string? Get(string key) => Scalar(node, key) ?? (common is null ? null : Scalar(common, key));
            int? Int(string key) => Get(key) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var source in new[] { common, node })
            {
                if (source is not null && Child(source, "env") is YamlMappingNode envMap)
                {
                    foreach (var (k, v) in envMap.Children)
                    {
                        env[((YamlScalarNode)k).Value!] = ((YamlScalarNode)v).Value ?? "";
                    }
                }
            }

            var resources = Strings(node, "resourcesPaths") is { Count: > 0 } own ? own
                : common is not null && Strings(common, "resourcesPaths") is { Count: > 0 } shared ? shared
                : Get("resourcesPath") is { } single ? [single] : [];
            var appDir = Path.GetFullPath(Path.Combine(baseDir, Get("appDirPath") ?? throw new InvalidOperationException("appDirPath is required")));
            apps.Add(new AppSpec(
                Get("appID") ?? Path.GetFileName(appDir),
                appDir,
                Int("appPort"),
                Int("daprHTTPPort"),
                Int("daprGRPCPort"),
                Strings(node, "command"),
                env,
                [.. resources.Select(r => Path.GetFullPath(Path.Combine(baseDir, r)))],
                Get("appProtocol") ?? "http",
                Int("appMaxConcurrency"),
                Get("configFilePath") is { } config ? Path.GetFullPath(Path.Combine(baseDir, config)) : null));
        }

        return apps;
    }

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static YamlMappingNode? Map(YamlMappingNode map, string key) => Child(map, key) as YamlMappingNode;

    private static string? Scalar(YamlMappingNode map, string key) => (Child(map, key) as YamlScalarNode)?.Value;

    private static List<string> Strings(YamlMappingNode map, string key) =>
        Child(map, key) is YamlSequenceNode seq ? [.. seq.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "")] : [];
}
