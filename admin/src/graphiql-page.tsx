import { createRoot } from 'react-dom/client';
import Explorer from './graphiql';
import './graphiql-page.css';

createRoot(document.getElementById('graphiql') as HTMLElement).render(<Explorer />);
