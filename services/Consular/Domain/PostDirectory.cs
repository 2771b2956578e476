using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;

namespace Dcis.Crisis.Consular.Domain;

/// <summary>
/// The posts and their jurisdictions, in memory (a few hundred rows at most): which post answers
/// for a place, and whether an area lies within a post's jurisdiction.
/// </summary>
internal sealed class PostDirectory
{
    /// <summary>Post id used when no post covers a place.</summary>
    public const string Unassigned = "unassigned";

    private volatile IReadOnlyDictionary<string, Post> _posts = new Dictionary<string, Post>();

    public IReadOnlyCollection<Post> All => _posts.Values.OrderBy(p => p.PostId, StringComparer.Ordinal).ToList();

    public void Load(IEnumerable<Post> posts) => _posts = posts.ToDictionary(p => p.PostId, StringComparer.Ordinal);

    public Post? Find(string? postId) => postId is not null && _posts.TryGetValue(postId, out var p) ? p : null;

    /// <summary>The post for a place: one whose zones contain the subdivision, else one covering the whole country.</summary>
    public string Resolve(string country, string? subdivision)
    {
        string? whole = null;
        foreach (var post in _posts.Values.OrderBy(p => p.PostId, StringComparer.Ordinal))
        {
            foreach (var j in post.Jurisdictions.Where(j => j.CountryCode == country))
            {
                if (j.SubdivisionCodes.Count == 0)
                {
                    whole ??= post.PostId;
                }
                else if (subdivision is not null && j.SubdivisionCodes.Contains(subdivision))
                {
                    return post.PostId;
                }
            }
        }

        return whole ?? Unassigned;
    }

    /// <summary>Whether the post's jurisdiction contains the place.</summary>
    public bool CoversPlace(string? postId, string? country, string? subdivision)
    {
        var post = Find(postId);
        return post is not null && country is not null && post.Jurisdictions.Any(j => j.CountryCode == country
            && (j.SubdivisionCodes.Count == 0 || (subdivision is not null && j.SubdivisionCodes.Contains(subdivision))));
    }

    /// <summary>Whether a whole area lies within the post's jurisdiction (zones of a zone-only post must be named).</summary>
    public bool CoversArea(string? postId, Area area)
    {
        ArgumentNullException.ThrowIfNull(area);
        var post = Find(postId);
        if (post is null)
        {
            return false;
        }

        var forCountry = post.Jurisdictions.Where(j => j.CountryCode == area.CountryCode).ToList();
        if (forCountry.Any(j => j.SubdivisionCodes.Count == 0))
        {
            return true;
        }

        var zones = forCountry.SelectMany(j => j.SubdivisionCodes).ToHashSet(StringComparer.Ordinal);
        return area.SubdivisionCodes.Count > 0 && area.SubdivisionCodes.All(zones.Contains);
    }
}
