using TrustLaunch.Tpm.Transport;

namespace TrustLaunch.Tpm.Tests.Transport;

public sealed class TpmTransportsTests
{
    [Theory]
    [InlineData("swtpm:host=127.0.0.1,port=2321", "swtpm:host=127.0.0.1,port=2321")]
    [InlineData("swtpm:port=4000", "swtpm:host=localhost,port=4000")]
    [InlineData("swtpm", "swtpm:host=localhost,port=2321")]
    [InlineData("device:/dev/tpm0", "device:/dev/tpm0")]
    [InlineData("device", "device:/dev/tpmrm0")]
    public void Open_ValidSpec_DescribesItself(string spec, string description)
    {
        using var transport = TpmTransports.Open(spec);
        Assert.Equal(description, transport.Description);
    }

    [Theory]
    [InlineData("mssim:port=1", "unknown TPM transport 'mssim' in 'mssim:port=1': use swtpm:host=H,port=P or device:PATH")]
    [InlineData("swtpm:port=99999", "bad swtpm option 'port=99999' in 'swtpm:port=99999': expected host=NAME or port=1..65535")]
    [InlineData("swtpm:colour=blue", "bad swtpm option 'colour=blue' in 'swtpm:colour=blue': expected host=NAME or port=1..65535")]
    public void Open_BadSpec_ExplainsWhatIsExpected(string spec, string message) =>
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => TpmTransports.Open(spec)).Message);

    [Fact]
    public async Task Transmit_NothingListening_ClearTransportError()
    {
        var port = FreePorts.FindPair();
        using var device = TpmDevice.Open($"swtpm:host=127.0.0.1,port={port}");
        var e = await Assert.ThrowsAsync<TpmTransportException>(() => device.GetRandomAsync(8));
        Assert.StartsWith($"TPM at swtpm:host=127.0.0.1,port={port} is unreachable or dropped the connection: ", e.Message);
    }

    [Fact]
    public async Task Transmit_MissingDevice_ClearTransportError()
    {
        using var device = TpmDevice.Open("device:/nonexistent/tpmrm0");
        var e = await Assert.ThrowsAsync<TpmTransportException>(() => device.GetRandomAsync(8));
        Assert.StartsWith("TPM at device:/nonexistent/tpmrm0 failed: ", e.Message);
    }
}
