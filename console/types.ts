/** The API's resources, as the handlers return them: one definition for the backend and the console. */
export type {
  PaymentResource as Payment,
  ReaderResource as Reader,
  ReceiptResource as Receipt,
  RefundResource as Refund,
} from '../shared/payments/resource.ts';

/** An account the console is signed in as: its token and the locations it may act for. */
export interface Account {
  label: string;
  role: 'cashier' | 'admin';
  token: string;
  locations: { id: string; displayName: string }[];
}

/** What the local stack's sign-in offers (`/console/local-session.json`). */
export interface LocalSession {
  liveUrl: string;
  /** The register may play the customer on the local stack's simulated readers. */
  simulator: boolean;
  accounts: Account[];
}
