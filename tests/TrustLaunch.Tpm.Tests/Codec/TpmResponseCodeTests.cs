namespace TrustLaunch.Tpm.Tests.Codec;

public sealed class TpmResponseCodeTests
{
    [Theory]
    [InlineData(0x000u, "TPM_RC_SUCCESS")]
    [InlineData(0x2C4u, "TPM_RC_VALUE on parameter 2")]
    [InlineData(0x1C4u, "TPM_RC_VALUE on parameter 1")]
    [InlineData(0x18Bu, "TPM_RC_HANDLE on handle 1")]
    [InlineData(0x98Eu, "TPM_RC_AUTH_FAIL on session 1")]
    [InlineData(0x09Bu, "TPM_RC_SIGNATURE")]
    [InlineData(0x100u, "TPM_RC_INITIALIZE")]
    [InlineData(0x14Au, "TPM_RC_NV_UNINITIALIZED")]
    [InlineData(0x902u, "TPM_RC_OBJECT_MEMORY")]
    [InlineData(0x922u, "TPM_RC_RETRY")]
    [InlineData(0x01Eu, "TPM 1.2 response code 0x0000001E")]
    [InlineData(0x0008_000Au, "layer 8 response code 0x0008000A")]
    [InlineData(0x50Au, "vendor response code 0x0000050A")]
    public void Describe_KnownCodes_NamesCodeAndWhere(uint rc, string expected) =>
        Assert.Equal(expected, TpmResponseCode.Describe(rc));

    [Fact]
    public void BaseCode_ParameterCode_DropsTheNumber() => Assert.Equal(0x084u, TpmResponseCode.BaseCode(0x2C4));

    [Fact]
    public void IsWarning_RetryButNotValue()
    {
        Assert.True(TpmResponseCode.IsWarning(0x922));
        Assert.False(TpmResponseCode.IsWarning(0x2C4));
        Assert.False(TpmResponseCode.IsWarning(0x100));
    }

    [Fact]
    public void TpmException_Message_NamesCommandCodeAndHex()
    {
        var e = new TpmException(TpmCc.Quote, 0x2C4);
        Assert.Equal("TPM2_Quote failed: TPM_RC_VALUE on parameter 2 (0x000002C4)", e.Message);
        Assert.Equal(0x084u, e.BaseCode);
    }
}
