using System.Security.Cryptography;
using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Sessions;

/// <summary>One entry of a command's authorization area (TPMS_AUTH_COMMAND).</summary>
public abstract class TpmAuthorization
{
    /// <summary>TPMA_SESSION continueSession: the session outlives the command.</summary>
    private protected const byte ContinueSession = 0x01;

    /// <summary>The empty password: hierarchies, PCRs and TrustLaunch's own keys use it.</summary>
    public static TpmAuthorization EmptyPassword { get; } = new PasswordAuthorization([]);

    public static TpmAuthorization Password(ReadOnlySpan<byte> password) => new PasswordAuthorization(password.ToArray());

    internal abstract void Write(TpmWriter w);
}

/// <summary>TPM_RS_PW: the authValue sent in the clear (fine on a local bus; never for remote TPMs).</summary>
internal sealed class PasswordAuthorization(byte[] password) : TpmAuthorization
{
    internal override void Write(TpmWriter w) =>
        w.WriteUInt32(TpmHandles.PasswordSession).WriteSized([]).WriteByte(ContinueSession).WriteSized(password);
}

/// <summary>
/// An unbound, unsalted policy session. Commands authorized by it carry a fresh caller nonce and no HMAC (the policies
/// TrustLaunch uses need no authValue). Disposing flushes it from the TPM.
/// </summary>
public sealed class PolicySession : TpmAuthorization, IAsyncDisposable
{
    private readonly TpmDevice _tpm;
    private bool _flushed;

    internal PolicySession(TpmDevice tpm, uint handle, byte[] nonceTpm)
    {
        _tpm = tpm;
        Handle = handle;
        NonceTpm = nonceTpm;
    }

    public uint Handle { get; }
    public byte[] NonceTpm { get; }

    internal override void Write(TpmWriter w) =>
        w.WriteUInt32(Handle).WriteSized(RandomNumberGenerator.GetBytes(32)).WriteByte(ContinueSession).WriteSized([]);

    public async ValueTask DisposeAsync()
    {
        if (_flushed)
            return;
        _flushed = true;
        try
        {
            await _tpm.FlushContextAsync(Handle).ConfigureAwait(false);
        }
        catch (TpmTransportException)
        {
            // The TPM is unreachable; the next command reports that. A dispose must not throw over the real error.
        }
    }
}
