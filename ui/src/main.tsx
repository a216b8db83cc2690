/** The dashboard's entry: mounts the app into index.html's #root. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import './styles/theme.css';
import './styles/layout.css';
import './styles/controls.css';
import './styles/content.css';
import './styles/charts.css';

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
