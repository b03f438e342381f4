using System.Data.Common;
using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

public sealed partial class VerifierStore
{
    public Task<IReadOnlyList<AttestationResultRecord>> GetResultsAsync(string agentId, int last, CancellationToken cancellationToken = default) =>
        Database.ReadAsync<IReadOnlyList<AttestationResultRecord>>(async connection => await connection.QueryAsync(null, """
                SELECT id, agent_id, at, status, reason, event_index, log_length, policy_id, token, instance_id, launches FROM results
                WHERE agent_id = @id ORDER BY id DESC LIMIT @last
                """, ReadResult, cancellationToken, ("@id", agentId), ("@last", last)).ConfigureAwait(false), cancellationToken);

    private static AttestationResultRecord ReadResult(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetTimestamp(2), r.GetString(3), r.GetNullableString(4),
        r.GetNullableInt64(5), r.GetInt64(6), r.GetString(7), r.GetString(8), r.GetNullableString(9),
        r.GetNullableString(10) is { } launches ? JsonSerializer.Deserialize(launches, ContractsJsonContext.Default.IReadOnlyListVerifiedLaunch) : null);

    /// <summary>A result's launches as stored: a JSON array, or null when it verified none.</summary>
    private static string? LaunchesColumn(IReadOnlyList<VerifiedLaunch>? launches) =>
        launches is null or [] ? null : JsonSerializer.Serialize(launches, ContractsJsonContext.Default.IReadOnlyListVerifiedLaunch);
}
