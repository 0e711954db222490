import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import {
  type FieldErrors,
  fieldErrorMap,
  type Outcome,
  OutcomeNotice,
} from '../../components/form-fields.tsx';
import { PageHeader, Panel } from '../../components/ui.tsx';
import { CreateProviderMutation, ProviderOptionsQuery } from './operations.ts';
import { ProviderForm } from './ProviderForm.tsx';
import { emptyProviderForm, toProviderInput } from './provider-form-state.ts';

export function ProviderCreate() {
  const navigate = useNavigate();
  const canEdit = useCan('admin');
  const [{ data: options }] = useQuery({ query: ProviderOptionsQuery });
  const [{ fetching }, create] = useMutation(CreateProviderMutation);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [outcome, setOutcome] = useState<Outcome>(null);

  return (
    <>
      <PageHeader
        title="New provider"
        description={
          <>
            <Link to="..">Providers</Link> / new
          </>
        }
      />
      <Panel>
        <div className="panel-body">
          <ProviderForm
            mode="create"
            initial={emptyProviderForm()}
            otherSlugs={options?.providers.edges.map((e) => e.node.slug) ?? []}
            errors={errors}
            readOnly={!canEdit}
            busy={fetching}
            status={<OutcomeNotice outcome={outcome} />}
            onSubmit={async (state) => {
              setOutcome(null);
              const result = await create({
                input: { ...toProviderInput(state), slug: state.slug.trim(), enabled: state.enabled },
              });
              const answer = result.data?.createProvider;
              if (!answer) {
                setErrors({});
                setOutcome({
                  tone: 'bad',
                  message: result.error?.graphQLErrors[0]?.message ?? 'Tollgate did not answer.',
                });
                return;
              }
              if (answer.__typename === 'ValidationError') {
                setErrors(fieldErrorMap(answer.fieldErrors));
                return;
              }
              setErrors({});
              if (answer.__typename === 'ConflictError') {
                setOutcome({ tone: 'bad', message: answer.message });
                return;
              }
              navigate(`../${answer.provider.slug}`, { state: { created: true } });
            }}
          />
        </div>
      </Panel>
    </>
  );
}
