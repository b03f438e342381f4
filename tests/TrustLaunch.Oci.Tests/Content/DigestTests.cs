using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Tests.Content;

public sealed class DigestTests
{
    [Fact]
    public void Sha256_OfBytes_MatchesKnownValue() =>
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digest.Sha256([]).ToString());

    [Theory]
    [InlineData("sha256", "'sha256' is not a digest: expected algorithm:hex, e.g. sha256:…")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e", "digest 'md5:d41d8cd98f00b204e9800998ecf8427e': algorithm 'md5' is not sha256 or sha512")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "digest 'sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855': expected 64 lowercase hex digits")]
    [InlineData("sha256:../../etc/passwd", "digest 'sha256:../../etc/passwd': expected 64 lowercase hex digits")]
    public void Parse_Malformed_RefusedWithReason(string text, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => Digest.Parse(text)).Message);

    [Fact]
    public void Parse_RoundTrips()
    {
        var text = "sha512:" + new string('a', 128);
        Assert.Equal(text, Digest.Parse(text).ToString());
    }
}
