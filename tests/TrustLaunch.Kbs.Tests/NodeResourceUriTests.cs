using TrustLaunch.Kbs.Client;

namespace TrustLaunch.Kbs.Tests;

public sealed class NodeResourceUriTests
{
    [Theory]
    [InlineData("kbs:///default/key/1", null, "default", "key", "1")]
    [InlineData("kbs:///key/1", null, "default", "key", "1")]
    [InlineData("kbs://kbs.example:8080/team-a/image_key/v1.2", "kbs.example:8080", "team-a", "image_key", "v1.2")]
    [InlineData("kbs://10.0.0.1/r/t/g", "10.0.0.1", "r", "t", "g")]
    public void Parse_CocoForms_RepositoryTypeTag(string text, string? authority, string repository, string type, string tag)
    {
        var uri = KbsResourceUri.Parse(text);
        Assert.Equal((authority, repository, type, tag), (uri.Authority, uri.Repository, uri.Type, uri.Tag));
        Assert.Equal($"kbs:///{repository}/{type}/{tag}", uri.WithoutAuthority);
    }

    [Theory]
    [InlineData("https://kbs/default/key/1", "resource URI 'https://kbs/default/key/1' does not start with kbs://")]
    [InlineData("kbs://host:8080", "resource URI 'kbs://host:8080' has no path: expected kbs://[HOST:PORT]/REPOSITORY/TYPE/TAG")]
    [InlineData("kbs:///a/b/c/d", "resource URI 'kbs:///a/b/c/d' has 4 path segments: expected REPOSITORY/TYPE/TAG (or TYPE/TAG in 'default')")]
    [InlineData("kbs:///key", "resource URI 'kbs:///key' has 1 path segments: expected REPOSITORY/TYPE/TAG (or TYPE/TAG in 'default')")]
    [InlineData("kbs:///default/../1", "resource URI 'kbs:///default/../1': segment '..' is not letters, digits, '.', '_' or '-' (and not '.' or '..')")]
    [InlineData("kbs:///default//1", "resource URI 'kbs:///default//1': segment '' is not letters, digits, '.', '_' or '-' (and not '.' or '..')")]
    [InlineData("kbs:///default/key/1?x=1", "resource URI 'kbs:///default/key/1?x=1': segment '1?x=1' is not letters, digits, '.', '_' or '-' (and not '.' or '..')")]
    [InlineData("kbs://user@host:1/a/b/c", "resource URI 'kbs://user@host:1/a/b/c': 'user@host:1' is not HOST:PORT")]
    public void Parse_Malformed_RefusedWithReason(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => KbsResourceUri.Parse(text));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("kbs:///a/b/c", "https://127.0.0.1:8080", true)]
    [InlineData("kbs://127.0.0.1:8080/a/b/c", "https://127.0.0.1:8080/", true)]
    [InlineData("kbs://KBS.example:8080/a/b/c", "https://kbs.example:8080", true)]
    [InlineData("kbs://127.0.0.1:8081/a/b/c", "https://127.0.0.1:8080", false)]
    [InlineData("kbs://other:8080/a/b/c", "https://127.0.0.1:8080", false)]
    [InlineData("kbs://kbs.example/a/b/c", "https://kbs.example:443", true)]
    public void IsFor_NamedBrokerMustBeTheConfiguredOne(string text, string broker, bool expected) =>
        Assert.Equal(expected, KbsResourceUri.Parse(text).IsFor(new Uri(broker)));
}
