using TrustLaunch.Cli.Credentials;

namespace TrustLaunch.Cli.Tests.Credentials;

public sealed class CredentialFileTests
{
    private static readonly byte[] Header = [0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1];

    [Fact]
    public void Parse_WellFormed_ReturnsBothParts()
    {
        byte[] data = [.. Header, 0, 2, 0xAA, 0xBB, 0, 3, 1, 2, 3];

        var credential = CredentialFile.Parse(data, "c");

        Assert.Equal([0xAA, 0xBB], credential.CredentialBlob);
        Assert.Equal([1, 2, 3], credential.EncryptedSecret);
    }

    [Theory]
    [InlineData(new byte[] { 0xBA, 0xDC }, "credential file 'c': 2 bytes is too short for the 8-byte header")]
    [InlineData(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 1 }, "credential file 'c': magic is 0xDEADBEEF, expected 0xBADCC0DE")]
    [InlineData(new byte[] { 0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 2 }, "credential file 'c': version is 2, expected 1")]
    [InlineData(new byte[] { 0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1, 0 }, "credential file 'c': TPM2B_ID_OBJECT: the size field is missing")]
    [InlineData(new byte[] { 0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1, 0, 5, 1 }, "credential file 'c': TPM2B_ID_OBJECT: size 5 but only 1 bytes follow")]
    [InlineData(new byte[] { 0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1, 0xFF, 0xFF }, "credential file 'c': TPM2B_ID_OBJECT: size 65535, expected 1 to 132")]
    [InlineData(new byte[] { 0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1, 0, 1, 7, 0, 1, 7, 9 }, "credential file 'c': 1 unexpected bytes after TPM2B_ENCRYPTED_SECRET")]
    public void Parse_Malformed_ThrowsFormatExceptionNamingTheField(byte[] data, string message)
    {
        var e = Assert.Throws<FormatException>(() => CredentialFile.Parse(data, "c"));

        Assert.Equal(message, e.Message);
    }
}
