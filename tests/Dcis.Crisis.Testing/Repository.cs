namespace Dcis.Crisis.Testing;

/// <summary>Where this repository is: tests find the builds of its services, sidecar and launcher there.</summary>
public static class Repository
{
    private static readonly Lazy<string> Found = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Dcis.Crisis.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new FileNotFoundException("Dcis.Crisis.sln not found above " + AppContext.BaseDirectory);
    });

    /// <summary>The directory that holds <c>Dcis.Crisis.sln</c>, found above the running test's binaries.</summary>
    public static string Root => Found.Value;

    /// <summary>
    /// The newer of the Debug and Release builds of <paramref name="dll"/> in <paramref name="project"/>
    /// (a folder under the root, e.g. <c>deploy/local/DevSidecar</c>); null when neither is built.
    /// </summary>
    public static string? NewestBuild(string project, string dll) =>
        new[] { "Debug", "Release" }
            .Select(c => Path.Combine(Root, project, "bin", c, "net10.0", dll))
            .Where(File.Exists)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
}
