import { graphql } from '../gql/index.ts';

/** Who the token is: in a module of its own, for the entry to send it before the application loads. */
export const ViewerQuery = graphql(`
  query ConsoleViewer {
    viewer {
      subject
      email
      sessionId
      role
      tokenExpiresAt
    }
  }
`);
