import { useQuery } from 'urql';
import { ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import { graphql } from '../../gql/index.ts';

const OverviewQuery = graphql(`
  query ConsoleOverview($first: Int!) {
    providers(first: $first) {
      edges {
        node {
          id
          slug
          name
          enabled
          health { status }
          circuit { state }
        }
      }
    }
  }
`);

export default function OverviewPage() {
  const [{ data, error }] = useQuery({ query: OverviewQuery, variables: { first: 100 } });
  return (
    <>
      <PageHeader title="Overview" />
      {error ? <ErrorNotice error={error} /> : null}
      {!data ? (
        <Loading />
      ) : (
        <Panel>
          <ul>
            {data.providers.edges.map(({ node }) => (
              <li key={node.id}>
                {node.name} {node.circuit.state} {node.health.status}
              </li>
            ))}
          </ul>
        </Panel>
      )}
    </>
  );
}
