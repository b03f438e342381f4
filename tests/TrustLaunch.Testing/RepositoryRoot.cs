namespace TrustLaunch.Testing;

/// <summary>The checkout the tests run from: the directory holding TrustLaunch.slnx above the test binaries.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(System.IO.Path.Combine(root, "TrustLaunch.slnx")))
            root = System.IO.Path.GetDirectoryName(root) ?? throw new InvalidOperationException("TrustLaunch.slnx not found above the test directory");
        return root;
    }
}
