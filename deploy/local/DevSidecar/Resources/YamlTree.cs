using YamlDotNet.RepresentationModel;

namespace Dcis.Crisis.DevSidecar.Resources;

/// <summary>
/// Loads YAML into plain dictionaries (case-insensitive keys, as Kubernetes' YAML→JSON decoding is),
/// lists and strings, so resource files can be read without a class per Dapr schema version.
/// </summary>
public static class YamlTree
{
    public static IReadOnlyList<Dictionary<string, object?>> LoadDocuments(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        var documents = new List<Dictionary<string, object?>>();
        foreach (var document in stream.Documents)
        {
            if (Convert(document.RootNode) is Dictionary<string, object?> map)
            {
                documents.Add(map);
            }
        }

        return documents;
    }

    private static object? Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => mapping.Children.ToDictionary(
            kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => Convert(kv.Value), StringComparer.OrdinalIgnoreCase),
        YamlSequenceNode sequence => sequence.Children.Select(Convert).ToList(),
        YamlScalarNode scalar => scalar.Value,
        _ => null,
    };

    public static Dictionary<string, object?>? Map(this Dictionary<string, object?>? map, string key) =>
        map is not null && map.TryGetValue(key, out var v) ? v as Dictionary<string, object?> : null;

    public static List<object?> List(this Dictionary<string, object?>? map, string key) =>
        map is not null && map.TryGetValue(key, out var v) && v is List<object?> list ? list : [];

    public static string? Str(this Dictionary<string, object?>? map, string key) =>
        map is not null && map.TryGetValue(key, out var v) ? v as string : null;
}
