using System.Security.Cryptography;
using Grpc.Core;
using TrustLaunch.Agent.Attestation;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Secrets;
using TrustLaunch.Oci.Crypt;

namespace TrustLaunch.Agent.GuestApi;

/// <summary>
/// How the guest-component APIs refuse: the same exceptions the workload gateway answers as problems, as gRPC
/// statuses with the same details — NotFound for a resource the broker does not hold, PermissionDenied for every
/// refusal of the broker or of the request (a node not Attested, a policy, a sealed secret or packet that does not
/// verify), InvalidArgument for malformed input, Unavailable when the broker or the TPM log cannot answer.
/// </summary>
internal static class GuestApiStatus
{
    public static async Task<T> RunAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (StatusOf(e) is { } status)
        {
            throw new RpcException(status);
        }
    }

    private static Status? StatusOf(Exception e) => e switch
    {
        KbsRefusedException { Name: "ResourceNotFound" } => new Status(StatusCode.NotFound, e.Message),
        KbsRefusedException or WorkloadRequestRefusedException or SealedSecretException or CryptographicException => new Status(StatusCode.PermissionDenied, e.Message),
        ResourceUriRefusedException or KeyProviderProtocolException or FormatException => new Status(StatusCode.InvalidArgument, e.Message),
        KbsProtocolException => new Status(StatusCode.Unavailable, $"the key broker's answer is refused: {e.Message}"),
        HttpRequestException or TaskCanceledException => new Status(StatusCode.Unavailable, $"key broker unreachable: {e.Message}"),
        LaunchLogNotReadyException => new Status(StatusCode.Unavailable, e.Message),
        _ => null,
    };
}
