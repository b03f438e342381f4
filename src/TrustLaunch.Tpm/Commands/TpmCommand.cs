using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Commands;

/// <summary>
/// One TPM command: its code, its handle area, its parameters, and how to decode its response parameters.
/// <see cref="TpmDevice.ExecuteAsync{T}"/> adds the header and the authorization area.
/// </summary>
public abstract class TpmCommand<TResponse>
{
    public abstract TpmCc Code { get; }

    /// <summary>The handle area. The first N handles take the N authorizations given to the call.</summary>
    public virtual IReadOnlyList<uint> Handles => [];

    /// <summary>How many handles the response carries before its parameters.</summary>
    public virtual int ResponseHandleCount => 0;

    public virtual void WriteParameters(TpmWriter w)
    {
    }

    public abstract TResponse ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r);
}

/// <summary>The response of a command whose success is all it returns.</summary>
public readonly record struct TpmNoResponse;

/// <summary>A command that answers nothing but its response code.</summary>
public abstract class TpmVoidCommand : TpmCommand<TpmNoResponse>
{
    public override TpmNoResponse ReadResponse(ReadOnlySpan<uint> handles, ref TpmReader r) => default;
}
