using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;

namespace Dcis.Crisis.ThreatLevels.Domain;

/// <summary>
/// ISO 3166-1 countries and ISO 3166-2 subdivisions (fr/en names), generated from Debian's iso-codes
/// into an embedded resource (see ReferenceData/README.md), so a fresh machine needs nothing installed.
/// </summary>
public sealed class CountryCatalog
{
    private readonly FrozenDictionary<string, Country> _countries;
    private readonly FrozenDictionary<string, Subdivision> _subdivisions;
    private readonly FrozenDictionary<string, Country> _withoutSubdivisions;

    private CountryCatalog(IEnumerable<Country> countries)
    {
        _countries = countries.ToFrozenDictionary(c => c.Code, StringComparer.Ordinal);
        _subdivisions = _countries.Values.SelectMany(c => c.Subdivisions).ToFrozenDictionary(s => s.Code, StringComparer.Ordinal);
        Codes = [.. _countries.Keys.Order(StringComparer.Ordinal)];
        _withoutSubdivisions = _countries.Values.Select(c =>
        {
            var light = c.Clone();
            light.Subdivisions.Clear();
            return light;
        }).ToFrozenDictionary(c => c.Code, StringComparer.Ordinal);
    }

    /// <summary>Every country code, sorted.</summary>
    public IReadOnlyList<string> Codes { get; }

    /// <summary>Loads the embedded catalogue.</summary>
    public static CountryCatalog Load()
    {
        using var stream = typeof(CountryCatalog).Assembly.GetManifestResourceStream("Dcis.Crisis.ThreatLevels.countries.json")
            ?? throw new InvalidOperationException("embedded countries.json missing");
        var file = JsonSerializer.Deserialize<CatalogFile>(stream) ?? throw new InvalidOperationException("countries.json is empty");
        return new CountryCatalog(file.Countries.Select(ToProto));
    }

    /// <summary>Whether the ISO 3166-1 alpha-2 code exists.</summary>
    public bool IsCountry(string? code) => code is not null && _countries.ContainsKey(code);

    /// <summary>The country with its subdivisions, or null.</summary>
    public Country? Find(string code) => _countries.GetValueOrDefault(code);

    /// <summary>The country without its subdivisions (shared: never mutate it), or null.</summary>
    public Country? FindWithoutSubdivisions(string code) => _withoutSubdivisions.GetValueOrDefault(code);

    /// <summary>The subdivision, or null.</summary>
    public Subdivision? FindSubdivision(string code) => _subdivisions.GetValueOrDefault(code);

    /// <summary>The country a subdivision code belongs to (prefix before '-'), if the subdivision exists.</summary>
    public static string CountryOf(string subdivisionCode)
    {
        ArgumentNullException.ThrowIfNull(subdivisionCode);
        var dash = subdivisionCode.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 ? subdivisionCode[..dash] : subdivisionCode;
    }

    /// <summary>The subdivision and its ancestors, most specific first. Example: FR-69, FR-ARA.</summary>
    public IEnumerable<string> SelfAndAncestors(string subdivisionCode)
    {
        var current = FindSubdivision(subdivisionCode);
        var guard = 0;
        while (current is not null && guard++ < 8)
        {
            yield return current.Code;
            current = string.IsNullOrEmpty(current.ParentCode) ? null : FindSubdivision(current.ParentCode);
        }
    }

    private static Country ToProto(CountryEntry e)
    {
        var country = new Country { Code = e.Code, Alpha3 = e.Alpha3, Name = new LocalizedText { Fr = e.Fr, En = e.En } };
        if (e.Lat is { } lat && e.Lng is { } lng)
        {
            country.ReferencePoint = new LatLng { Latitude = lat, Longitude = lng };
        }

        country.Subdivisions.AddRange(e.Subdivisions.Select(s => new Subdivision
        {
            Code = s.Code, Name = new LocalizedText { Fr = s.Fr, En = s.En }, Type = s.Type, ParentCode = s.Parent,
        }));
        return country;
    }

    private sealed record CatalogFile([property: JsonPropertyName("countries")] List<CountryEntry> Countries);

    private sealed record CountryEntry(
        [property: JsonPropertyName("code")] string Code,
        [property: JsonPropertyName("alpha3")] string Alpha3,
        [property: JsonPropertyName("en")] string En,
        [property: JsonPropertyName("fr")] string Fr,
        [property: JsonPropertyName("lat")] double? Lat,
        [property: JsonPropertyName("lng")] double? Lng,
        [property: JsonPropertyName("subdivisions")] List<SubdivisionEntry> Subdivisions);

    private sealed record SubdivisionEntry(
        [property: JsonPropertyName("code")] string Code,
        [property: JsonPropertyName("en")] string En,
        [property: JsonPropertyName("fr")] string Fr,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("parent")] string Parent);
}
